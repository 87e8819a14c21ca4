"""The appointment and its rules: pure code shared by the API, the workflow and the activities."""
