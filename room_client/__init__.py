"""Qt-free client core shared by the seat tablet, the room display and the bench."""
