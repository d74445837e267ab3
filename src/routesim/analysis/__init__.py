"""Analysis of run and sweep results: plots now; hypothesis tests and reports later."""
