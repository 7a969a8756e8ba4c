"""Evaluation shared by both sections: the MNIST evaluator classifier (eval.classifier)
and the VAE-versus-GAN comparison of every trained model (eval.compare)."""
