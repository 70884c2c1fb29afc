import os

# Tests run with DEBUG off (as in production) but need no secrets; Huey runs tasks inline.
os.environ.setdefault("CRM_TESTING", "1")
