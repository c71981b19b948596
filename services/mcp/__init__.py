"""mcp: the Model Context Protocol server behind the gateway's /mcp (Streamable HTTP), and the same
tools over stdio for a desktop client (`python -m services.mcp --stdio`). See README.md."""
