"""When pairs meet: DST-safe recurring slots, milestones and the calendars."""
