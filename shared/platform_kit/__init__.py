"""The platform kit: what every service of the migrant-services platform stands on."""
