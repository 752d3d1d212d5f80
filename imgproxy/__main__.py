from imgproxy.cli import main

main()
