"""TMF622 / TMF641 ordering APIs."""
