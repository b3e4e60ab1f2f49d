"""The ``wdh-enrich`` command line: a thin shell over the services."""
