"""Real-browser harness: JupyterLab in a temp folder, driven by Playwright and Debian's chromium."""
