"""Pages shared by the HTML interfaces (portal and staff console).

Each interface subclasses these views behind its own access mixin; nothing here decides who
may enter a page, only what the page shows and which action it calls.
"""
