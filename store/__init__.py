"""The workspace store: an embedded SQLite database holding the program and its history."""
