// sidetap
