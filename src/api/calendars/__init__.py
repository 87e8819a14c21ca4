"""An appointment as a calendar event: the Google Calendar link and the iCalendar file."""
