"""Request and response schemas of the API, one module per resource, kept apart from domain types.

``common`` holds what every resource shares (the problem-details body, the job record).
"""
