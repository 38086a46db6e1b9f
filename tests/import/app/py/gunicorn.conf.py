bind = "127.0.0.1:8010"
workers = 2
