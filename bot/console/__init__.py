"""The admin web console under ``/admin``: sign-in by one-time link, and server-rendered pages
over the answer log, the gap queue and the documents."""
