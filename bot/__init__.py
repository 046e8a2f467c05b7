"""The support bot service: settings, wiring, the command line and (later) the chat adapters."""
