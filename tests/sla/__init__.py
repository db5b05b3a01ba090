"""SLA clocks, the notification outbox and the periodic job."""
