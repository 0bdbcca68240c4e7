// SidetapTraffic
