// The agent asks its service manager for a restart by exiting with this code
// (EX_TEMPFAIL). The unit restarts on any exit (Restart=always), but a
// distinct code tells "asked to restart" apart from a crash in the journal.
export const AGENT_RESTART_EXIT_CODE = 75;
