"""Run the order desk on this machine: `python run.py` → http://127.0.0.1:8080.

The database is SQLite in the instance folder unless DATABASE_URL says otherwise; on the first start
the demo data set is loaded and the generated logins are printed (and saved to instance/logins.txt).
For production use gunicorn (see README.md); this server is for one person trying the product.
"""
import os

os.environ.setdefault("LOAD_DEMO_DATA", "1")

from app import create_app  # noqa: E402  (configuration is read from the environment at import)


def main() -> None:
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8080"))
    app = create_app()
    print(f"Order Operations is running on http://{host}:{port}/  (Ctrl+C stops it)", flush=True)
    app.run(host=host, port=port, debug=False, use_reloader=False, threaded=True)


if __name__ == "__main__":
    main()
