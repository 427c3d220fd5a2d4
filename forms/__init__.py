"""WTForms classes, one module per lifecycle or audience. Forms parse and check input only."""
