"""The embedded llama.cpp server: its life cycle (server), the child process (child), the weights."""
