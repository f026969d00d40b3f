"""Automated satisfaction callbacks (回访): scheduling, claiming, the dialer, outcomes on tickets."""
