// SidetapCapture
