// SidetapDaemon
