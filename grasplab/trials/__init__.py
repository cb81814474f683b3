"""Simulated grasp trials in MuJoCo: the physical benchmark every policy runs through."""
