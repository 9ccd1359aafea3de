from fedfabric.cli import app

app()
