// Tests for this surface are added here.
