"""Order cases: case and line workflows, case pages, tasks, bulk line actions, paging, concurrency."""
