from skarbiec.cli import main

main()
