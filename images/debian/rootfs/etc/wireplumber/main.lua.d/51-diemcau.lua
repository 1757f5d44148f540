-- The box's audio server runs as a system service with no D-Bus session:
-- no flatpak portal, and no device reservation (nothing else opens the cards).
default_access.properties["enable-flatpak-portal"] = false
alsa_monitor.properties["alsa.reserve"] = false
