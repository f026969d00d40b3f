"""The operator desk: queue follower (AMI), screen pops pushed to the console page, overflow."""
