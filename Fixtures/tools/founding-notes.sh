echo "(notes not yet)"
