"""The registry service: who lives where (residents, moves, births, enrolment, permits)."""
