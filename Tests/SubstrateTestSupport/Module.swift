// Placeholder: the replay node lives here.
