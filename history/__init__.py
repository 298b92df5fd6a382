"""The program over time: figures per cycle and over all cycles (``history.figures``, small groups
suppressed) and the introductions proposed at a cycle's end (``history.introductions``). Pure: the
store and ``pipeline.program_history`` feed them, ``report.history_page`` draws the page."""
