from fedfabric.cli import main

main()
