// SidetapPorts
