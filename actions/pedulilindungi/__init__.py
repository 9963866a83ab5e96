"""PeduliLindungi complaints: phone + OTP verification guards every menu item."""
