print("stands for the app")
