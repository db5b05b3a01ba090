"""SLA clocks (schedules, definitions, task SLAs), the notification outbox and the periodic job.
May import ``app.core`` and ``app.models``; the periodic job also drives case auto-close.
"""
