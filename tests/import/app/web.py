import os
print("web on", os.environ.get("PORT"))
