"""Entry point: `python app.py` locally, and the app_file of the Hugging Face Space."""

from bertviz_lite.ui import main

if __name__ == "__main__":
    main()
