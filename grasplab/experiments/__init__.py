"""Studies built on the layers below: the semi-supervised comparison and the demo."""
