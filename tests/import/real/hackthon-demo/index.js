// stands for the app
