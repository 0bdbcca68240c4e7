// SidetapRing
