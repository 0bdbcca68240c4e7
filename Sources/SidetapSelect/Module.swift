// SidetapSelect
