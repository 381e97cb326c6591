from voc.cli import main

main()
