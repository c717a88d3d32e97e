"""Network drivers that ship with libnet, one module or package per driver."""
