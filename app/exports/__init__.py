"""Exports of lists to CSV and XLSX, streamed: the download starts at once and memory stays the same
whatever the number of rows (rows are read in batches and written as they come; the XLSX is a zip
written entry by entry to a stream that is never seeked).

``writers`` knows the file formats and nothing of the application; ``lists`` turns a back-office list
(its filters, sort, quick search and columns as shown) into rows; ``views`` serves the downloads.
May import ``app.core``, ``app.models`` and ``app.search`` (the quick search the list applies).
"""
